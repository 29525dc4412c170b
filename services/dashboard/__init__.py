"""`kafkube serve dashboard`: the web dashboard over the live state and its history."""
