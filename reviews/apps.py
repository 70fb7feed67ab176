from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self):
        from airlock.sessions import read_with_session
        from reviews.selectors import QUEUE_VERSION_SQL

        # Every view of the queue reads its version first: with the session, one round trip.
        read_with_session("reviews:queue", QUEUE_VERSION_SQL)
