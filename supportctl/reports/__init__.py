"""Reports for other tools to read: test results as JUnit XML for CI systems."""
