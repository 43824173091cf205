"""A consent's signed form (issue 19): a photo or PDF kept with the consent record it proves."""
