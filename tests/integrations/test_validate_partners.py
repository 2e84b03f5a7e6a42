"""`regie validate` also checks every profile's partner URLs, by partner and role."""

from __future__ import annotations

import shutil

from cli.main import main
from engine.loader import DEFAULT_DIR


def test_regie_validate_reports_a_bad_partner_url_by_profile_role_and_partner(tmp_path, capsys):
    folder = tmp_path / "definities"
    shutil.copytree(DEFAULT_DIR, folder)
    profile = folder / "profiles" / "nederweert.yaml"
    text = profile.read_text()
    start = text.index("  inkomen:")
    url = text.index('- "', start)
    end = text.index("\n", url)
    profile.write_text(text[:url] + '- "nonsense://secret-token@host"' + text[end:])
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "nederweert.yaml: inkomen: werk_en_inkomen_nederweert: url 1: apprise kent dit soort URL niet" in err
    assert "secret-token" not in err


def test_regie_validate_accepts_the_shipped_profiles(capsys):
    assert main(["validate"]) == 0
    assert "2 profiel(en)" in capsys.readouterr().out
