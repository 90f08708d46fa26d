"""How contacts are compared: names without case or accents, numbers however written."""

import pytest

from tierslieu.domain.contacts import email_key, name_key, phone_key


@pytest.mark.parametrize(
    "written", ["Mme Martin", "MME MARTIN", "  mme   martin ", "Mme Martín", "Mme Ｍartin"]
)
def test_one_name_however_it_is_typed(written):
    assert name_key(written) == "mme martin"


@pytest.mark.parametrize(
    "written",
    ["06 12 34 56 78", "0612345678", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678"],
)
def test_one_number_however_it_is_written(written):
    assert phone_key(written) == "0612345678"


@pytest.mark.parametrize("written", [None, "", "  ", "12", "+", "(0)"])
def test_what_is_not_a_number(written):
    assert phone_key(written) is None


def test_a_foreign_number_keeps_its_prefix():
    assert phone_key("+32 470 12 34 56") == "0032470123456"


def test_addresses_compare_without_case_or_spaces():
    assert email_key(" Odette@Exemple.TEST ") == "odette@exemple.test"
    assert email_key("") is None and email_key(None) is None
