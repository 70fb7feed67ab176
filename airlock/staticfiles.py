"""Static files for production: hashed names and compressed copies, served by WhiteNoise."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage, rewriting references inside CSS only.

    The vendored, minified scripts end with a sourceMappingURL comment, and Chart.js ships
    without the map it names; rewriting JS references would refuse the whole collectstatic over
    a debugging aid. Scripts reference nothing else, so nothing is lost: each is still hashed.
    """

    patterns = tuple(
        (glob, rules) for glob, rules in ManifestStaticFilesStorage.patterns if glob == "*.css"
    )
