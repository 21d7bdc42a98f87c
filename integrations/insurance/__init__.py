"""The national medical-insurance platform's e-voucher decode (ec.query): client, emulator, mapping."""
