"""Server-rendered pages outside Dash: sign-in, sign-out and the start page by role."""
