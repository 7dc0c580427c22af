"""The chat trading bot (SPEC §12): channel-agnostic, driven by InboundMessages from any channel plugin."""
