from __future__ import annotations

import factory

from accounts.models import Organisation, User

PASSWORD = "test-password-123"


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    kind = Organisation.Kind.VENDOR
    name = factory.Sequence(lambda n: f"测试机构{n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.ASSESSOR
    display_name = factory.LazyAttribute(lambda u: f"{u.username} 测试")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save()
