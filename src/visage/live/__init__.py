"""The live path: asyncio and WebRTC around the synchronous core. A LiveSession per connection."""
