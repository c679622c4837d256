"""HTTP edge: one thin router per resource; no SQL, no business rules."""
