"""Test support shared by every test package: an in-memory edit surface, one bounded
polling helper, and gates that make slow things happen on the test's signal."""
