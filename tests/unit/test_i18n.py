from tierslieu import i18n
from tierslieu.errors import problem_classes


def test_french_is_the_default_language():
    assert i18n.negotiate(None) == "fr"
    assert i18n.negotiate("") == "fr"
    assert i18n.negotiate("de-DE,de;q=0.9") == "fr"


def test_english_when_preferred():
    assert i18n.negotiate("en") == "en"
    assert i18n.negotiate("en-GB,en;q=0.9,fr;q=0.5") == "en"
    assert i18n.negotiate("fr;q=0.4, en;q=0.8") == "en"
    assert i18n.negotiate("fr-FR,en;q=0.5") == "fr"
    assert i18n.negotiate("en;q=0") == "fr"


def test_every_problem_has_both_languages():
    for cls in problem_classes():
        for msgid in (cls.title, cls.detail):
            assert i18n.gettext("en", msgid) != msgid, (cls.code, msgid)
    for code, msgid in i18n.FIELD_MESSAGES.items():
        assert i18n.gettext("en", msgid) != msgid, code


def test_msgspec_messages_are_translated():
    code, params, field = i18n.translate_validation("Object missing required field `email`")
    assert (code, field) == ("required", "email")
    code, params, _ = i18n.translate_validation("Invalid enum value 'robot' - at `$.kind`")
    assert code == "invalid-choice"
    assert i18n.field_message(code, "fr", params) == "Valeur non autorisée : 'robot'."
    code, params, _ = i18n.translate_validation("Expected `int` <= 200")
    assert i18n.field_message(code, "en", params) == "Must be at most 200."
