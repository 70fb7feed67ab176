import factory
from factory.django import DjangoModelFactory

from airlock.models import User
from airlock.roles import Role, group_for
from devices.models import Membership, Organisation

TEST_PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Manufacturer {n} Ltd")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted: Role | None, **kwargs):
        if not create or extracted is None:
            return
        if extracted == Role.ADMINISTRATOR:
            self.is_staff = self.is_superuser = True
            self.save(update_fields=["is_staff", "is_superuser"])
        else:
            self.groups.add(group_for(extracted))


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, role=Role.MANUFACTURER)
    organisation = factory.SubFactory(OrganisationFactory)
    is_owner = True


def make_manufacturer(organisation: Organisation | None = None, **kwargs) -> User:
    membership = MembershipFactory(
        organisation=organisation or OrganisationFactory(),
        **{f"user__{key}": value for key, value in kwargs.items()},
    )
    return membership.user
