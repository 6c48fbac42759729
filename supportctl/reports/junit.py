"""JUnit XML, the test report format CI systems read (GitHub, GitLab, Jenkins, Azure).

One `<testsuite>` per test file, one `<testcase>` per case; a failed expectation is a
`<failure>`, a case that could not run (a broken test file, an invalid stack) an `<error>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

# characters XML 1.0 cannot hold at all, not even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class JunitCase:
    """One test case: passed when it has neither a failure nor an error."""

    name: str
    classname: str
    file: str = ""
    line: int = 0
    time: float = 0.0
    failure: str | None = None   # one line, the `message` attribute
    error: str | None = None
    details: str = ""            # the element's text: everything that explains it


@dataclass(frozen=True, slots=True)
class JunitSuite:
    name: str
    cases: Sequence[JunitCase] = field(default_factory=tuple)

    @property
    def failures(self) -> int:
        return sum(case.failure is not None for case in self.cases)

    @property
    def errors(self) -> int:
        return sum(case.error is not None for case in self.cases)

    @property
    def time(self) -> float:
        return sum(case.time for case in self.cases)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", text)


def _counts(element: ET.Element, tests: int, failures: int, errors: int, time: float) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", "0")
    element.set("time", f"{time:.3f}")


def junit_xml(suites: Sequence[JunitSuite], name: str) -> str:
    """The report as an XML document."""
    root = ET.Element("testsuites", name=_clean(name))
    _counts(root, sum(len(s.cases) for s in suites), sum(s.failures for s in suites),
            sum(s.errors for s in suites), sum(s.time for s in suites))
    for suite in suites:
        element = ET.SubElement(root, "testsuite", name=_clean(suite.name))
        _counts(element, len(suite.cases), suite.failures, suite.errors, suite.time)
        for case in suite.cases:
            item = ET.SubElement(element, "testcase", name=_clean(case.name),
                                 classname=_clean(case.classname), time=f"{case.time:.3f}")
            if case.file:
                item.set("file", _clean(case.file))
            if case.line:
                item.set("line", str(case.line))
            for tag, message in (("failure", case.failure), ("error", case.error)):
                if message is not None:
                    problem = ET.SubElement(item, tag, message=_clean(message), type=tag)
                    problem.text = _clean(case.details or message)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
