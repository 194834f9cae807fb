"""ATBD 4.2.3, 4.3, 4.4.1, 4.7: U-Net model contract, ONNX prediction, training, confidence."""
