"""The stack language: load YAML with positions, check structure and meaning, build the model."""
