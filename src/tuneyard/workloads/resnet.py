"""cifar_resnet: CIFAR-10 through a small residual network, as a practitioner would train it.

Batch normalisation after every convolution, augmentation as Keras preprocessing
layers inside the model (random horizontal flips and shifts: active in `fit`,
a no-op in `evaluate` and `predict`), three stages of basic residual blocks that
halve the resolution and double the width, and global average pooling instead of
a large dense layer. The cosine schedule comes from the shared builders.
"""

from __future__ import annotations

from .base import COMMON_OPTIONAL, Dataset
from .cifar import CLASS_NAMES
from .images import ImageWorkload
from .sources import load_cifar10

STAGES = 3


class CifarResnet(ImageWorkload):
    """Augment -> Conv-BN-ReLU stem -> 3 stages x `blocks` residual blocks -> GAP -> 10.

    `width` is the first stage's filters (doubled at each later stage); `blocks`
    counts residual blocks per stage, so blocks=3 is the classic ResNet-20.
    `translate` is the largest random shift as a fraction of the image (0 turns
    shifts off); `flip` (default on) mirrors images left-right at random.
    """

    name = "cifar_resnet"
    required = ("width", "blocks")
    optional = ("translate", "flip", *COMMON_OPTIONAL)
    title = "CIFAR-10"
    class_names = CLASS_NAMES
    source = staticmethod(load_cifar10)

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """Compiled residual network; L2 applies to every convolution and the classifier."""
        # heavy: keras
        import keras

        from . import builders

        params = builders.model_params(params, options)
        common = builders.common_params(params, self.name)
        width = builders.int_param(params, "width", self.name, 1, 1024)
        blocks = builders.int_param(params, "blocks", self.name, 1, 18)
        inputs = keras.Input(shape=dataset.info["input_shape"])
        x = augment(inputs, params, self.name)
        conv = convolution_factory(builders.regularizer(common))
        x = conv_bn_relu(conv, x, width, strides=1)
        for stage in range(STAGES):
            for block in range(blocks):
                strides = 2 if stage > 0 and block == 0 else 1
                x = residual_block(conv, x, width * 2**stage, strides)
        x = keras.layers.GlobalAveragePooling2D()(x)
        for layer in builders.maybe_dropout(common):
            x = layer(x)
        outputs = keras.layers.Dense(  # float32 under a mixed policy: softmax, loss, metrics
            dataset.info["num_classes"], activation="softmax",
            kernel_regularizer=builders.regularizer(common), dtype="float32",
        )(x)
        model = keras.Model(inputs, outputs, name=self.name)
        optimizer = builders.make_optimizer(common, params, dataset, options, self.name)
        return builders.compile_classifier(model, optimizer, options)


def augment(x, params: dict, workload: str):
    """Random flips and shifts (training only); the identity when both are off."""
    # heavy: keras
    import keras

    translate = float(params.get("translate", 0.0))
    if not 0.0 <= translate < 0.5:
        raise ValueError(f"{workload}: translate must be in [0, 0.5), got {translate!r}")
    if params.get("flip", True) not in (True, False):
        raise ValueError(f"{workload}: flip must be true or false, got {params.get('flip')!r}")
    if params.get("flip", True):
        x = keras.layers.RandomFlip("horizontal")(x)
    if translate > 0:
        # Reflected borders, as the padded random crop of the ResNet papers, minus the black edge.
        x = keras.layers.RandomTranslation(translate, translate, fill_mode="reflect")(x)
    return x


def convolution_factory(regularizer):
    """A 3x3 (or 1x1) convolution without bias (batch norm supplies it), He-initialised."""
    # heavy: keras
    import keras

    def conv(filters: int, kernel: int = 3, strides: int = 1):
        return keras.layers.Conv2D(
            filters, kernel, strides=strides, padding="same", use_bias=False,
            kernel_initializer="he_normal", kernel_regularizer=regularizer,
        )

    return conv


def conv_bn_relu(conv, x, filters: int, strides: int):
    """Convolution -> batch norm -> ReLU."""
    # heavy: keras
    import keras

    x = conv(filters, strides=strides)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.ReLU()(x)


def residual_block(conv, x, filters: int, strides: int):
    """Two 3x3 convolutions plus the input (a 1x1 projection where the shape changes)."""
    # heavy: keras
    import keras

    shortcut = x
    y = conv_bn_relu(conv, x, filters, strides)
    y = keras.layers.BatchNormalization()(conv(filters)(y))
    if strides != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.BatchNormalization()(conv(filters, kernel=1, strides=strides)(x))
    return keras.layers.ReLU()(keras.layers.Add()([shortcut, y]))
