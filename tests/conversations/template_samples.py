"""Sample contexts for the small-talk templates."""
SAMPLES = {
    f"smalltalk/{kind}.txt.j2": [{"variant": v, "staff": staff, "kf": kf} for v in range(3)
                                 for staff in (False, True) for kf in (False, True)]
    for kind in ("greeting", "thanks", "ack", "emoji")
}
