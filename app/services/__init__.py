"""Operations that change state. They check the 8D rules, write audit events and never commit:
the request edge commits once (docs/design.md, "House habits" 4)."""
