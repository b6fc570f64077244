"""Coupons (issue 5): campaign rules parsed from a guide's /发券 command, and coupon codes."""
