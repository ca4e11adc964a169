# Used though vulture cannot see it; each line says why (bin/deadcode.py).
_.SignInThrottleBackend  # named in settings.AUTHENTICATION_BACKENDS (accounts/throttle.py)
_.signin_locked  # settings.AXES_LOCKOUT_CALLABLE
_.LocalStorage  # the default storage, named in settings.STORAGES (runs/storage.py)
