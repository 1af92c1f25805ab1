"""Run by the Label Studio venv's python (not by pytest): add members with legacy API tokens.

Label Studio's open-source API has no call that creates a user with a token, so the integration
test creates them the way its own management commands do, through Django, against the test
server's database (``LABEL_STUDIO_BASE_DATA_DIR``). Arguments: ``email=token`` pairs.
"""

import os
import sys

import label_studio

sys.path.insert(0, os.path.dirname(label_studio.__file__))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")

import django

django.setup()

from organizations.models import Organization  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from users.models import User  # noqa: E402

organization = Organization.objects.first()
for pair in sys.argv[1:]:
    email, token = pair.split("=", 1)
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, username=email, password=token)
    organization.add_user(user)
    user.active_organization = organization
    user.save()
    Token.objects.filter(user=user).delete()
    Token.objects.create(user=user, key=token)
    print(email, user.id)
