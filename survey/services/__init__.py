"""Services own the rules and the commits; views and commands call them."""
