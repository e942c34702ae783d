"""The terminal client (`circle chat`): a text-only participant, speaking the protocol like any
other client. It depends on `signaling.protocol` alone of Circle's own code."""
