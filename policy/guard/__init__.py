"""layerguard's CrossGuard policy pack: framework, policies and the registry that orders them."""
