"""What every HTTP surface shares: the async resource base (resource.py), answers and URL
helpers (http.py), Harbor's error format (errors.py) and the portal's cookies (cookies.py)."""
