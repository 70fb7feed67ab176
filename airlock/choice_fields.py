"""A multiple choice of records that survives any id a client posts."""

from django import forms

# The largest id a 64-bit integer column holds (SQLite and PostgreSQL alike).
MAX_ID = 2**63 - 1


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Django puts posted ids straight into an `IN (...)` query, where SQLite raises (a 500)
    on a number too big for 64 bits; such an id is only a wrong choice."""

    def clean(self, value):
        for pk in value or []:
            if not (str(pk).isdecimal() and int(pk) <= MAX_ID):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)
