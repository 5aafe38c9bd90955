"""The emulated Telit module: IP Easy sockets, FTP, MQTT, the script store and its runtime, SMSATRUN/TCPATRUN."""
