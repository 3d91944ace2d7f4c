"""Form classes (Flask-WTF). No database access: views fill choices, services check rules."""
