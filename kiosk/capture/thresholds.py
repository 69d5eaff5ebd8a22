"""Quality thresholds: the ``[quality.face]``, ``[quality.finger]`` and ``[quality.signature]``
tables of config.toml, with defaults taken from the standards (source cited per field).

``Config.quality`` holds the raw ``[quality]`` mapping; :func:`quality_thresholds` checks it
against these frozen dataclasses (unknown keys and wrong types are refused with a
:class:`~kiosk.errors.ConfigError` naming the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from kiosk.typed_tables import Ge, Gt, Interval, build

if TYPE_CHECKING:
    from kiosk.config import Config

# ranges every threshold is checked against at load (kiosk.typed_tables)
Share = Annotated[float, Interval(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Gt(0)]
NonNegativeFloat = Annotated[float, Ge(0)]
Degrees = Annotated[float, Interval(ge=0.0, le=90.0)]
GreyLevels = Annotated[float, Interval(ge=0.0, le=255.0)]
AtLeastOne = Annotated[int, Ge(1)]


@dataclass(frozen=True)
class FaceThresholds:
    # Eye line (midpoint of the eyes) height as a share of the frame height, from the top.
    # ISO/IEC 19794-5:2005, full frontal geometry: eye line 50-70 % of the height from the bottom.
    eye_line_min: Share = 0.30
    eye_line_max: Share = 0.50
    # Horizontal centring: eye midpoint within 50 % +/- this share of the width.
    # ISO/IEC 19794-5:2005, full frontal geometry: midpoint between 45 % and 55 % of the width.
    centre_tolerance: Share = 0.05
    # Head length (chin to crown) as a share of the frame height.
    # ICAO 9303 part 3 (portrait): chin-to-crown 70-80 % of the photo; 0.80 is its upper bound
    # (beyond it chin or crown leave the frame); the lower bound 0.45 keeps the eye distance
    # above the token minimum below at 480 lines.
    head_share_min: Share = 0.45
    head_share_max: Share = 0.80
    # Minimum distance between the eye centres in pixels.
    # ISO/IEC 19794-5:2005, token image: width >= 240 px with eyes 1/4 width apart = 60 px.
    min_eye_distance_px: PositiveFloat = 60.0
    # Head pose tolerances in degrees.
    # ISO/IEC 19794-5:2005 pose (frontal) / ICAO 9303 part 3: roll +/-8 deg, yaw and pitch +/-5 deg.
    # Yaw is estimated from eye position between the cheek edges (skin colour) and carries
    # about +/-5 deg of error (a frontal studio portrait reads -5), so the standard's 5 deg
    # is widened to 10 to avoid refusing frontal faces; the operator still sees the value.
    max_roll_deg: Degrees = 8.0
    max_yaw_deg: Degrees = 10.0
    # Sharpness: variance of the Laplacian / 100 of the face resized to 128 px wide and
    # contrast-stretched. ISO/IEC 29794-5 (face quality) lists sharpness as a component but sets
    # no pass mark; calibrated: the test portrait reads ~1.4, blurred with sigma 3 px ~0.1.
    min_sharpness: NonNegativeFloat = 0.5
    # Exposure of the face region (ISO/IEC 29794-5 under-/over-exposure prevention):
    # share of face pixels below 40 (under) or above 245 (clipped) grey levels.
    max_under_exposed_share: Share = 0.25
    max_over_exposed_share: Share = 0.10
    # ISO/IEC 19794-5:2005 digital image attributes: "at least 7 bits of intensity variation
    # in the facial region" = a span of 128 grey levels (measured from 1st to 99th percentile).
    min_dynamic_range: GreyLevels = 128.0
    # Illumination uniformity: darker / brighter mean of the left and right halves of the face.
    # ICAO 9303 part 3 asks for even lighting without shadows; ISO/IEC 29794-5 lists
    # illumination uniformity as a quality component (no pass mark); 0.70 tolerates normal
    # key/fill light differences (the test portrait reads 0.89, a half-shadowed face 0.63).
    min_illumination_ratio: Share = 0.70
    # Background outside the head: standard deviation of grey levels and edge density.
    # ICAO 9303 part 3: plain, uniform, light background with no pattern or objects.
    max_background_std: NonNegativeFloat = 18.0
    max_background_edges: Share = 0.04
    # Hold still: movement of the eye midpoint between consecutive frames, as a share of the
    # eye distance (motion blur and a moving target; not a standard figure, ISO/IEC 29794-5
    # treats motion blur as part of sharpness).
    max_motion: NonNegativeFloat = 0.12
    # Auto-capture fires after this many consecutive frames pass every check (~1/6 s at 30 fps).
    auto_capture_frames: AtLeastOne = 5
    # Output token image width in pixels; eyes 1/4 of the width apart, eye line at 0.6 width
    # from the top, height = width / 0.75 (ISO/IEC 19794-5:2005 token image geometry).
    token_width: AtLeastOne = 480
    # "jpeg" or "jp2" (both allowed by ISO/IEC 19794-5 / ICAO 9303 part 10); JPEG quality.
    token_format: Literal["jpeg", "jp2"] = "jpeg"
    jpeg_quality: Annotated[int, Interval(ge=1, le=100)] = 92


@dataclass(frozen=True)
class FingerThresholds:
    # NFIQ 2 (ISO/IEC 29794-4:2024, NIST NFIQ 2) scores utility 0-100 and sets no pass mark;
    # 35 is an operational floor (NIST's NFIQ 2 report shows false non-match rates rising
    # steeply in the lowest score bins); programmes choose their own value here.
    min_nfiq2: Annotated[int, Interval(ge=0, le=100)] = 35
    # Live feedback while the finger is on the sensor (cheap statistics, not NFIQ 2; no
    # standard sets these marks, they were calibrated on the synthetic prints of
    # device_mocks.fingerprints: good touches 0.99 / 0.96 / 0.39, smudged ones below):
    # share of 16 px blocks with ridge contrast (NFIQ 2 "foreground" idea: finger placed fully),
    # mean orientation certainty 1 - lmin/lmax (NFIQ 2 OCL feature), ridge clarity (share of
    # local energy in the ridge-period band, after NFIQ 2's local clarity score).
    min_foreground_share: Share = 0.5
    min_orientation_certainty: Share = 0.75
    min_ridge_clarity: Share = 0.28
    # bozorth3 score above which two slots are flagged as the same finger. NIST NBIS
    # (bozorth3 user guide) treats scores above 40 as a probable match; nbis-py says "> 50 is
    # a likely match". 50 keeps false alarms rare on ten-print sets.
    duplicate_score: Annotated[int, Ge(0)] = 50
    # Resolution the sensors deliver and images are stored at (ISO/IEC 19794-4: 500 ppi).
    ppi: AtLeastOne = 500
    # "wsq" (FBI WSQ, ISO/IEC 19794-4 compression; the wsq plugin encodes at ~12:1) or "png".
    image_format: Literal["wsq", "png"] = "wsq"


@dataclass(frozen=True)
class SignatureThresholds:
    # No ISO standard sets these; they reject empty and trivial signatures
    # (ISO/IEC 19794-7 defines only the time-series format that the raw points follow).
    min_points: Annotated[int, Ge(0)] = 20
    # Bounding box of the ink (mm): a mark smaller than this is not a signature.
    min_width_mm: NonNegativeFloat = 8.0
    min_height_mm: NonNegativeFloat = 2.0
    # A signature made of one stroke must be at least this long (a dash or a dot is refused).
    min_single_stroke_mm: NonNegativeFloat = 20.0
    # The e-KTP signature box is about 25 x 10 mm; rendered at 300 dpi (card printer resolution).
    box_width_mm: PositiveFloat = 25.0
    box_height_mm: PositiveFloat = 10.0
    dpi: AtLeastOne = 300
    # Margin inside the box (mm) and stroke width at full pressure (mm).
    margin_mm: NonNegativeFloat = 0.6
    stroke_mm: PositiveFloat = 0.35


@dataclass(frozen=True)
class QualityThresholds:
    face: FaceThresholds = field(default_factory=FaceThresholds)
    finger: FingerThresholds = field(default_factory=FingerThresholds)
    signature: SignatureThresholds = field(default_factory=SignatureThresholds)


def thresholds_from_mapping(table: Mapping[str, Any], *, file: Path = Path("config.toml")) -> QualityThresholds:
    """Check a raw ``[quality]`` table; unknown keys, wrong types and values out of range
    raise ConfigError."""
    th: QualityThresholds = build(QualityThresholds, dict(table), key="quality", file=file, base=file.parent)
    return th


def quality_thresholds(config: "Config") -> QualityThresholds:
    """The station's quality thresholds (defaults for every key its config leaves out)."""
    return thresholds_from_mapping(config.quality, file=config.path)
