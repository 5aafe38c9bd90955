"""The project's own development tools: the demo, the test runner, ROM-mode MicroPython, heap sizes, vendored peers."""
