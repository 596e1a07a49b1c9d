"""Two-factor sign-in: TOTP authenticator apps and recovery codes (django-otp).

``selectors`` says who must pass the second factor and which devices a user has; ``services``
enrols, verifies, regenerates recovery codes and resets (every change audited, never a secret
or a code); ``middleware`` keeps a session that has not passed it out of every page but the
code step; ``views`` are the pages of the sign-in's second step and of the user's own settings.
"""
