"""``kiosk quality``: run the capture quality checks on image files (a technician checking
camera placement and lighting with a saved frame, or a scanner with a saved print).

    kiosk quality face frame.png [--json]
    kiosk quality finger print.png --position 2 [--ppi 500] [--json]
    kiosk quality compare a.png b.png [--ppi 500] [--json]      # bozorth3 score of two prints
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.capture.face import FaceAnalyzer
from kiosk.capture.finger import FingerprintEngine, to_resolution
from kiosk.capture.report import QualityReport
from kiosk.capture.thresholds import quality_thresholds
from kiosk.cli.arguments import finger_position, ppi
from kiosk.cli.context import config_from, print_json
from kiosk.errors import InputError
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("quality")
    qsub = p.add_subparsers(dest="quality_command", required=True, metavar="KIND")
    fp = qsub.add_parser("face")
    fp.add_argument("image", type=Path)
    fp.add_argument("--json", action="store_true")
    fp.set_defaults(func=cmd_face)
    gp = qsub.add_parser("finger")
    gp.add_argument("image", type=Path)
    gp.add_argument("--position", type=finger_position, default=2)
    gp.add_argument("--ppi", type=ppi, default=500)
    gp.add_argument("--json", action="store_true")
    gp.set_defaults(func=cmd_finger)
    cp = qsub.add_parser("compare")
    cp.add_argument("first", type=Path)
    cp.add_argument("second", type=Path)
    cp.add_argument("--ppi", type=ppi, default=500)
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)


def _read(path: Path, flags: int) -> np.ndarray:
    img = cv2.imread(str(path), flags) if path.is_file() else None
    if img is None:
        raise InputError("quality.unreadable", path=str(path))
    return img


def _print_report(report: QualityReport, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    if as_json:
        doc = report.to_dict()
        for check in doc["checks"]:
            check["message"] = translate(check["code"], **check["params"]) if not check["passed"] and check["code"] else ""
        print_json({**doc, **(extra or {})})
    else:
        for key, value in (extra or {}).items():
            print(f"{key:22} {value}")
        for c in report.checks:
            mark = "ok  " if c.passed else "FAIL"
            value = "" if c.value is None else f"{c.value:.3g}"
            label = translate(f"{report.modality}.check.{c.name}")
            line = f"{mark} {label:22} {value:>8}"
            if not c.passed and c.code:
                line += "  " + translate(c.code, **c.params)
            print(line)
    return 0 if report.passed else 1


def cmd_face(args: argparse.Namespace) -> int:
    th = quality_thresholds(config_from(args))
    analysis = FaceAnalyzer(th.face, track=False).analyze(_read(args.image, cv2.IMREAD_COLOR))
    return _print_report(analysis.report, args.json)


def cmd_finger(args: argparse.Namespace) -> int:
    th = quality_thresholds(config_from(args))
    img = to_resolution(_read(args.image, cv2.IMREAD_GRAYSCALE), args.ppi, th.finger.ppi)
    a = FingerprintEngine(th.finger).assess(img, args.position)
    return _print_report(a.report, args.json, {"nfiq2": a.nfiq2, "minutiae": len(a.points())})


def cmd_compare(args: argparse.Namespace) -> int:
    th = quality_thresholds(config_from(args))
    engine = FingerprintEngine(th.finger)
    sets = [engine.minutiae(to_resolution(_read(p, cv2.IMREAD_GRAYSCALE), args.ppi, th.finger.ppi))
            for p in (args.first, args.second)]
    score = FingerprintEngine.compare(sets[0], sets[1])
    same = score >= th.finger.duplicate_score
    if args.json:
        print_json({"score": score, "threshold": th.finger.duplicate_score, "same_finger": same})
    else:
        print(translate("quality.compare", score=score, threshold=th.finger.duplicate_score))
    return 0



