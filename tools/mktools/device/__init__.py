"""What touches a device: bundle, deploy (mpremote, #WSCRIPT), TCPATRUN upgrade, SMSATRUN digest SMS."""
