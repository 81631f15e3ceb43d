"""UI views, one module per screen family; each module keeps its own ``urlpatterns``."""
