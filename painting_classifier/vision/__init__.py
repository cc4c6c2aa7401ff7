"""Pictures in, pictures out: decoding uploads, finding the painting in a photo, the model's views and maps.
NumPy, Pillow and OpenCV only; used by serving, the app and training alike."""
