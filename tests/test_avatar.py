"""Avatars from real photos: the public-domain astronaut portrait and images made from it (turned by EXIF,
pasted twice, shrunk into a big canvas, blown up), images without a face, and files that are no image.
Nothing is mocked: every test runs the real face mesh."""
from __future__ import annotations

import sys

# extras that `make test` installs are imported plainly: in CI a missing one fails, it is not skipped
import cv2
import mediapipe  # noqa: F401
import numpy as np
import pytest
import skimage.data as skdata
from PIL import Image

from visage.backends.renderers.analysis import analyse_portrait
from visage.backends.renderers.avatar import AVATAR_SIDE
from visage.backends.renderers.avatar_store import AvatarStore, validate_name
from visage.backends.vision.face_mesh import FaceMeshDetector, face_height, shared_detector
from visage.cli.main import main
from visage.errors import InputError, MissingExtraError

EYES, MOUTH = (33, 263, 468, 473), (13, 14, 61, 291)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


@pytest.fixture(scope="module")
def astro_png(astronaut, tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


@pytest.fixture(scope="module")
def astro(astro_png):
    return analyse_portrait(astro_png, "astro")


def assert_upright_face(avatar) -> None:
    """The landmarks lie on an upright face in the middle of the crop."""
    side = avatar.image.shape[0]
    points = avatar.landmarks
    assert avatar.image.shape == (side, side, 3) and avatar.image.dtype == np.uint8
    assert points.shape == (478, 3) and points.dtype == np.float32
    assert (points[:, :2] > 0).all() and (points[:, :2] < side).all()
    assert (points[list(EYES), 1] < side / 2).all(), "eyes belong in the upper half"
    assert (points[list(MOUTH), 1] > side / 2).all(), "the mouth belongs in the lower half"
    assert points[33, 0] < points[263, 0], "the person's right eye is on the image's left"
    assert 0.35 * side < points[1, 0] < 0.65 * side, "the nose is near the middle"
    assert 0.3 * side < face_height(points) < 0.55 * side


def two_faces(astronaut) -> np.ndarray:
    canvas = np.full((600, 1000, 3), 120, np.uint8)
    canvas[44:556, 0:512] = astronaut
    canvas[100:484, 560:944] = cv2.resize(astronaut, (384, 384), interpolation=cv2.INTER_AREA)
    return canvas


# --- the detector ---------------------------------------------------------------------------------------

def test_detector_gives_pixel_landmarks(astronaut):
    faces = shared_detector().detect(astronaut)
    assert len(faces) == 1 and faces[0].shape == (478, 3) and faces[0].dtype == np.float32
    assert 90 < face_height(faces[0]) < 130  # her face is ~106 px tall in the 512 px photo
    assert 190 < faces[0][1, 0] < 260 and 100 < faces[0][1, 1] < 160  # the nose tip, upper middle


def test_search_finds_both_faces_largest_first(astronaut):
    canvas = two_faces(astronaut)
    faces = shared_detector().search(canvas)
    assert len(faces) == 2
    assert face_height(faces[0]) > face_height(faces[1]) * 1.2
    assert faces[0][:, 0].mean() < 500 < faces[1][:, 0].mean()
    assert len(shared_detector().search(canvas, max_faces=1)) == 1


def test_tracking_mode_follows_a_moving_face(astronaut):
    with FaceMeshDetector(static=False) as tracker:
        noses = [tracker.detect(np.roll(astronaut, 4 * i, axis=1), max_faces=1)[0][1, 0] for i in range(5)]
    assert np.allclose(np.diff(noses), 4, atol=2.5)


def test_detector_rejects_non_images():
    with pytest.raises(InputError, match="8-bit"):
        shared_detector().detect(np.zeros((64, 64, 3), np.float32))


# --- analysis -------------------------------------------------------------------------------------------

def test_astronaut_portrait(astro, astronaut):
    avatar, warnings = astro
    assert_upright_face(avatar)
    info = avatar.info
    assert avatar.image.shape[0] == 512  # her face is ~106 px: enlarged to the 512 px minimum, with a warning
    assert any("px tall" in w for w in warnings) and info["warnings"] == warnings
    assert info["source"]["width"] == 512 and info["faces_found"] == 1 and info["format"] >= 1
    pose = info["head_pose"]
    assert abs(pose["yaw"]) < 10 and abs(pose["roll"]) < 10 and abs(pose["pitch"]) < 20
    skin, lips = info["skin_rgb"], info["lip_rgb"]
    assert skin[0] > skin[1] > skin[2], "skin is warm"
    assert lips[0] / lips[1] > skin[0] / skin[1], "lips are redder than skin"
    assert info["mouth_open"] is True  # she smiles with her teeth showing
    expression = info["expression"]  # measured for the renderer, which starts from a neutral face
    assert expression["corner_lift"] > 0.1 and expression["teeth_rgb"] is not None and not expression["glasses"]
    assert not any("turned" in w or "tilted" in w for w in warnings)
    x0, y0, x1, y1 = info["face_box"]
    assert 0 < x0 < x1 < 512 and 0 < y0 < y1 < 512
    # the crop recorded in info maps the photo's landmarks onto the avatar's
    source = shared_detector().detect(astronaut)[0]
    crop = info["crop"]
    mapped = (source[:, :2] - (crop["x"], crop["y"])) * (512 / crop["side"])
    assert np.abs(mapped - avatar.landmarks[:, :2]).mean() < 0.04 * face_height(avatar.landmarks)


def test_head_roll_follows_a_tilted_photo(astronaut, astro):
    tilted = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), 12, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REFLECT)  # turned 12 degrees counter-clockwise
    avatar, _ = analyse_portrait(tilted, "tilted")
    upright = astro[0].info["head_pose"]["roll"]
    assert avatar.info["head_pose"]["roll"] == pytest.approx(upright - 12, abs=3)


@pytest.mark.parametrize("orientation, turns", [(6, 1), (8, -1)])
def test_exif_orientation_is_applied(astronaut, tmp_path, orientation, turns):
    portrait = astronaut[:, 56:456]  # 400 wide, 512 tall, so a forgotten rotation would show in the size
    path = tmp_path / f"phone-{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(np.rot90(portrait, turns))).save(path, exif=exif.tobytes(), quality=92)
    avatar, _ = analyse_portrait(path, "phone")
    assert_upright_face(avatar)
    assert (avatar.info["source"]["width"], avatar.info["source"]["height"]) == (400, 512)
    assert abs(avatar.info["head_pose"]["roll"]) < 10


def test_a_turned_head_is_accepted_with_a_warning_that_says_why():
    avatar, warnings = analyse_portrait(skdata.camera(), "cameraman")  # grey, turned ~50 degrees
    turned = [w for w in warnings if "turned" in w]
    assert avatar.info["head_pose"]["yaw"] > 25 and len(turned) == 1
    assert "degrees" in turned[0] and "distort" in turned[0] and turned[0] in avatar.info["warnings"]


def test_two_faces_uses_the_largest(astronaut):
    avatar, warnings = analyse_portrait(two_faces(astronaut), "pair")
    assert "2 faces found; using the largest" in warnings
    crop = avatar.info["crop"]
    assert crop["x"] + crop["side"] / 2 < 500  # the bigger astronaut is on the left
    assert_upright_face(avatar)


def test_small_face_is_enlarged_with_a_warning(astronaut):
    canvas = np.full((800, 800, 3), 200, np.uint8)
    canvas[300:420, 500:620] = cv2.resize(astronaut, (120, 120), interpolation=cv2.INTER_AREA)
    avatar, warnings = analyse_portrait(canvas, "tiny-face")
    assert avatar.image.shape[0] == 512
    assert any("only 2" in w and "px tall" in w for w in warnings), warnings  # ~25 px face
    assert_upright_face(avatar)


def test_huge_photo_is_shrunk_first(astronaut, tmp_path):
    path = tmp_path / "huge.jpg"
    Image.fromarray(cv2.resize(astronaut, (5000, 5000), interpolation=cv2.INTER_CUBIC)).save(path, quality=90)
    avatar, warnings = analyse_portrait(path, "huge")
    assert any("5000x5000" in w and "shrunk" in w for w in warnings)
    assert not any("px tall" in w for w in warnings)  # a ~1000 px face is plenty
    assert avatar.image.shape[0] == AVATAR_SIDE and avatar.info["source"]["width"] == 5000
    assert_upright_face(avatar)


@pytest.mark.parametrize("image", ["coffee", "gradient"])
def test_no_face_is_a_clear_error(image):
    pixels = skdata.coffee() if image == "coffee" else np.linspace(0, 255, 300 * 400 * 3).reshape(300, 400, 3)
    with pytest.raises(InputError, match="no face found in .*frontal portrait.* px tall"):
        analyse_portrait(pixels.astype(np.uint8), "nobody")


def test_files_that_are_not_images(astro_png, tmp_path):
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(astro_png.read_bytes()[:20_000])
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo\n")
    for path in (truncated, text):
        with pytest.raises(InputError, match="is not an image \\(or is damaged\\)"):
            analyse_portrait(path, "broken")
    with pytest.raises(InputError, match="does not exist"):
        analyse_portrait(tmp_path / "missing.png", "missing")


def test_tiny_image_is_refused(astronaut):
    with pytest.raises(InputError, match="only 50x50 px"):
        analyse_portrait(cv2.resize(astronaut, (50, 50)), "tiny")


# --- the store ------------------------------------------------------------------------------------------

def test_store_round_trip(astro, tmp_path):
    store = AvatarStore(tmp_path)
    avatar = astro[0]
    folder = store.save(avatar)
    assert sorted(p.name for p in folder.iterdir()) == ["avatar.json", "landmarks.npy", "portrait.png"]
    assert store.list() == ["astro"]
    loaded = store.load("astro")
    assert np.array_equal(loaded.image, avatar.image)
    assert np.array_equal(loaded.landmarks, avatar.landmarks) and loaded.landmarks.dtype == np.float32
    assert loaded.info == avatar.info and loaded.name == "astro"
    assert [p.name for p in tmp_path.iterdir()] == ["astro"], "no temporary folders are left behind"
    with pytest.raises(InputError, match="already exists"):
        store.save(avatar)
    store.save(avatar, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["astro"]


def test_missing_and_deleted_avatars(astro, tmp_path):
    store = AvatarStore(tmp_path)
    store.save(astro[0])
    with pytest.raises(InputError, match="no avatar named 'bob'.*saved avatars: astro"):
        store.load("bob")
    store.delete("astro")
    assert store.list() == [] and list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="no avatar named 'astro' to delete"):
        store.delete("astro")


@pytest.mark.parametrize("damage", ["landmarks.npy", "portrait.png", "avatar.json"])
def test_damaged_bundle_is_a_clear_error(astro, tmp_path, damage):
    store = AvatarStore(tmp_path)
    folder = store.save(astro[0])
    (folder / damage).write_bytes((folder / damage).read_bytes()[:40])
    with pytest.raises(InputError, match="'astro' .* is damaged .*create it again"):
        store.load("astro")


@pytest.mark.parametrize("name", ["", "a b", "../up", "x" * 65, "naïve", "default", "a.b"])
def test_invalid_names(astro, tmp_path, name):
    with pytest.raises(InputError):
        validate_name(name)
    avatar = astro[0]
    with pytest.raises(InputError):
        AvatarStore(tmp_path).save(type(avatar)(name, avatar.image, avatar.landmarks, avatar.info))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["a", "Anna-2", "bob_the_3rd", "x" * 64])
def test_valid_names(name):
    assert validate_name(name) == name


def test_default_avatar_is_built_once_and_cached(tmp_path):
    store = AvatarStore(tmp_path)
    first = store.default_avatar()
    assert first.name == "default" and (tmp_path / "default" / "avatar.json").is_file()
    assert_upright_face(first)
    assert store.list() == []  # the built-in one is not a saved avatar
    again = store.load("default")
    assert np.array_equal(again.landmarks, first.landmarks) and again.info == first.info
    (tmp_path / "default" / "landmarks.npy").write_bytes(b"broken")
    assert np.allclose(store.default_avatar().landmarks, first.landmarks, atol=0.5)  # rebuilt, not an error


def test_default_avatar_without_scikit_image(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.data", None)  # what Python does when it is not installed
    with pytest.raises(MissingExtraError, match="visage\\[portrait\\]"):
        AvatarStore(tmp_path).default_avatar()


# --- the command line -----------------------------------------------------------------------------------

def test_cli_create_list_delete(astro_png, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISAGE_HOME", str(tmp_path))
    assert main(["avatar", "create", str(astro_png), "--name", "cli"]) == 0
    out, err = capsys.readouterr()
    assert "created avatar 'cli'" in out and "warning: the face is only" in err
    assert main(["avatar", "create", str(astro_png), "--name", "cli"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["avatar", "list"]) == 0
    out = capsys.readouterr().out
    assert "cli" in out and "default" in out
    assert main(["avatar", "delete", "cli"]) == 0
    assert AvatarStore(tmp_path / "avatars").list() == []


def test_cli_avatar_carries_its_voice_and_pitch(astro_png, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISAGE_HOME", str(tmp_path))
    assert main(["avatar", "create", str(astro_png), "--name", "v", "--voice", "nobody"]) == 2
    assert "joe-female" in capsys.readouterr().err  # the error lists the voices
    assert AvatarStore(tmp_path / "avatars").list() == []  # refused before the analysis, nothing written
    assert main(["avatar", "create", str(astro_png), "--name", "v", "--voice", "Joe", "--pitch", "low"]) == 0
    info = AvatarStore(tmp_path / "avatars").info("v")
    assert (info["voice"], info["pitch"]) == ("joe", "low")
    capsys.readouterr()
    assert main(["avatar", "list"]) == 0
    assert "voice joe (low pitch)" in capsys.readouterr().out


def test_cli_failure_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VISAGE_HOME", str(tmp_path))
    photo = tmp_path / "coffee.png"
    Image.fromarray(skdata.coffee()).save(photo)
    assert main(["avatar", "create", str(photo)]) == 2
    assert "no face found in" in capsys.readouterr().err
    assert not (tmp_path / "avatars").exists() or list((tmp_path / "avatars").iterdir()) == []
    assert main(["avatar", "create", str(photo), "--name", "no good"]) == 2
    assert "invalid avatar name" in capsys.readouterr().err
