"""The emulated Quectel LTE Standard module (QI* TCP/IP commands)."""
