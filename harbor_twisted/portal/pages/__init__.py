"""The portal's pages: plain ``async def page(ctx: PageContext) -> Page | Redirect``
functions over the core's services, free of twisted.web (``portal.resource`` runs them)."""
