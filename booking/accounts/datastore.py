"""The Flask-Security user datastore over our models."""

from flask_security import SQLAlchemyUserDatastore

from booking.accounts.models import Role, User
from booking.extensions import db

user_datastore = SQLAlchemyUserDatastore(db, User, Role)
