"""How much do the JPEG re-encoded CIFAR-10 images in ../shared/data move the accuracy?

The copy of CIFAR-10 on this machine keeps training images 0-3,999 and test images
0-999 as the lossless originals; every other image is a JPEG re-encode (about 30 dB
PSNR). A sweep trains and validates on a mix (about 8% originals), so this scores a
study's kept model (results/STUDY/best.keras) on each part separately:

- validation images that are originals against re-encoded ones (the split the sweep used);
- test images 0-999 (originals) against 1,000-9,999 (re-encoded);
- the same 1,000 original test images, re-encoded here with JPEG at the quality that
  gives about the same PSNR: the direct effect of re-encoding on identical images.

    .venv/bin/python bench/cifar_reencoded.py cifar_resnet-hyperband-s0 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

ORIGINAL_TRAIN, ORIGINAL_TEST = 4000, 1000


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 image stacks, in dB."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    """Each uint8 HxWx3 image through a JPEG encode and decode at `quality`."""
    from PIL import Image

    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        out[i] = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return out


def quality_for(images: np.ndarray, target_db: float) -> tuple[int, float]:
    """The JPEG quality whose PSNR on `images` is nearest `target_db`."""
    trials = {q: psnr(images, jpeg(images, q)) for q in range(50, 100, 5)}
    best = min(trials, key=lambda q: abs(trials[q] - target_db))
    return best, trials[best]


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a softmax classifier on float images in [0, 1]."""
    predictions = model.predict(x, batch_size=500, verbose=0).argmax(axis=1)
    return float(np.mean(predictions == y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study")
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--results", default="results")
    parser.add_argument("--target-db", type=float, default=30.0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import keras

    from tuneyard.store.optuna_store import Store
    from tuneyard.workloads import get_workload
    from tuneyard.workloads.sources import load_cifar10

    store = Store(None, args.study, readonly=True)
    store.load()
    config = store.config
    workload = get_workload("cifar_resnet")
    dataset = workload.load(data_dir=args.data_dir, subset=config.get("subset"), seed=config["seed"],
                            validation_split=config.get("validation_split", 0.1))
    model = keras.saving.load_model(Path(args.results) / args.study / "best.keras")
    raw = load_cifar10(args.data_dir, num_classes=10)
    val_original = dataset.info["val_indices"] < ORIGINAL_TRAIN
    rows = {
        "validation, originals": (dataset.x_val[val_original], dataset.y_val[val_original]),
        "validation, re-encoded": (dataset.x_val[~val_original], dataset.y_val[~val_original]),
        "test 0-999, originals": (dataset.x_test[:ORIGINAL_TEST], dataset.y_test[:ORIGINAL_TEST]),
        "test 1000-9999, re-encoded": (dataset.x_test[ORIGINAL_TEST:], dataset.y_test[ORIGINAL_TEST:]),
    }
    originals = np.asarray(raw.x_test[:ORIGINAL_TEST])
    quality, db = quality_for(originals, args.target_db)
    rows[f"test 0-999, JPEG q{quality} here ({db:.1f} dB)"] = (
        jpeg(originals, quality).astype(np.float32) / 255.0, dataset.y_test[:ORIGINAL_TEST])
    results = {}
    for name, (x, y) in rows.items():
        results[name] = {"images": len(y), "accuracy": round(accuracy(model, x, y), 4)}
        print(f"{name:44} {len(y):6} images  accuracy {results[name]['accuracy']:.4f}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
