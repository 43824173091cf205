"""Winter operations (docs/winter.md): legal clocks (deadlines) and cold-wave / heavy-snow / heat-wave alerts with
their check tasks on the phone."""
