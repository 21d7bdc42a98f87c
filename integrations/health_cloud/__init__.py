"""The provincial health cloud (省健康云平台): signed-request client, loopback emulator, wire mapping."""
