"""The health-check center (体检中心): HL7 v2 orders over MLLP in, ACKs out, and an emulator of its system."""
