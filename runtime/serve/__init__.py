"""The device service behind `serve`: MQTT in and out, the streams' state file, the live page."""
