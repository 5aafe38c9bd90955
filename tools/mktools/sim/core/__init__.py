"""The emulator's core: event loop, wire, network bridge, AT parser, 3GPP base modem, frontends. It knows no dialect."""
