import json

import pytest

from katib.darts.errors import SettingsError
from katib.darts.settings import DartsSettings

# The defaults of Katib's DARTS suggestion (pkg/suggestion/v1beta1/nas/darts/service.py, v0.19).
KATIB_DEFAULTS = {
    "num_epochs": 50,
    "w_lr": 0.025,
    "w_lr_min": 0.001,
    "w_momentum": 0.9,
    "w_weight_decay": 3e-4,
    "w_grad_clip": 5.0,
    "alpha_lr": 3e-4,
    "alpha_weight_decay": 1e-3,
    "batch_size": 128,
    "num_workers": 4,
    "init_channels": 16,
    "print_step": 50,
    "num_nodes": 4,
    "stem_multiplier": 3,
}


def katib_text(**user):
    """Settings as the suggestion sends them: defaults as numbers, user values as strings, ' for "."""
    return json.dumps({**KATIB_DEFAULTS, **user}).replace('"', "'")


def test_defaults_are_katibs_and_second_order():
    settings = DartsSettings()
    assert {k: v for k, v in settings.to_dict().items() if k != "unrolled"} == KATIB_DEFAULTS
    assert settings.unrolled is True
    assert DartsSettings.from_katib("") == settings
    assert DartsSettings.from_katib(katib_text()) == settings


def test_user_values_arrive_as_strings_in_single_quoted_json():
    settings = DartsSettings.from_katib(
        katib_text(num_epochs="3", w_lr="0.1", batch_size="None", unrolled="False")
    )
    assert (settings.num_epochs, settings.w_lr, settings.batch_size, settings.unrolled) == (
        3,
        0.1,
        None,
        False,
    )
    assert isinstance(settings.num_epochs, int)


def test_quotes_left_by_katibs_trial_template_are_dropped():
    assert DartsSettings.from_katib(f'"{katib_text(num_epochs="7")}"').num_epochs == 7
    assert DartsSettings.from_katib('""') == DartsSettings()


def test_json_null_batch_size_means_one_batch_per_half():
    assert DartsSettings.from_katib(json.dumps({"batch_size": None})).batch_size is None


def test_round_trip_through_katibs_form():
    settings = DartsSettings(num_epochs=2, init_channels=4, unrolled=False)
    assert DartsSettings.from_katib(settings.to_katib()) == settings


@pytest.mark.parametrize("text", ["{'unrolled': 'true'}", "{'unrolled': 1}", "{'unrolled': True}"])
def test_unrolled_accepts_the_usual_spellings(text):
    assert DartsSettings.from_katib(text).unrolled is True


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "{'learning_rate': '0.1'}",
            "unknown DARTS settings \\['learning_rate'\\]; valid settings: num_epochs, w_lr",
        ),
        ("{'num_epochs': '0'}", "num_epochs must be at least 1, got '0'"),
        ("{'w_lr': '-0.1'}", "w_lr must be greater than or equal to 0"),
        ("{'batch_size': '1.5'}", "batch_size must be an integer, got '1.5'"),
        ("{'num_workers': '-1'}", "num_workers must be greater than or equal to 0"),
        ("{'init_channels': 'many'}", "init_channels must be a number, got 'many'"),
        ("{'w_grad_clip': 'nan'}", "finite"),
        ("{'num_nodes': 'None'}", "num_nodes cannot be None; default: 4"),
        ("{'stem_multiplier': true}", "must be a number, got True"),
        ("{'unrolled': 'maybe'}", "unrolled must be true or false"),
        ("['w_lr']", "must be a JSON object"),
        ("{'w_lr': }", "neither JSON nor a Python literal"),
    ],
)
def test_bad_settings_are_rejected_clearly(text, message):
    with pytest.raises(SettingsError, match=message):
        DartsSettings.from_katib(text)
