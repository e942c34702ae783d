"""Circle's browser client.

No Python lives here: the package exists so that the files the server serves (the page, its
stylesheets and modules, and the vendored socket.io client) install with Circle as package data.
"""
