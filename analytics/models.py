# The learning event log, weekly course metrics and mastery models arrive with the analytics
# issue; the app is wired in now so its URLs, tasks and migrations have a home.
