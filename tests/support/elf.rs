//! Just enough of an ELF reader to check the shape of a static executable: its type, machine,
//! program headers and section names, for 32- and 64-bit files of either byte order.

use std::ops::Range;

pub const ET_EXEC: u16 = 2;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;

const MAGIC: &[u8] = b"\x7fELF";
const CLASS_OFFSET: usize = 4;
const CLASS_64: u8 = 2;
const DATA_OFFSET: usize = 5;
const DATA_BIG_ENDIAN: u8 = 2;
const TYPE_OFFSET: usize = 16;
const MACHINE_OFFSET: usize = 18;

#[derive(Debug)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
}

#[derive(Debug)]
pub struct Elf {
    pub is_64: bool,
    pub big_endian: bool,
    pub file_type: u16,
    pub machine: u16,
    pub segments: Vec<Segment>,
    pub sections: Vec<String>,
}

/// Field offsets that differ between ELF32 and ELF64.
struct Layout {
    phoff: usize,
    shoff: usize,
    phentsize: usize,
    phnum: usize,
    shentsize: usize,
    shnum: usize,
    shstrndx: usize,
    /// p_flags within a program header.
    p_flags: usize,
    /// sh_offset and sh_size within a section header.
    sh_offset: usize,
    sh_size: usize,
}

const LAYOUT_32: Layout = Layout {
    phoff: 28,
    shoff: 32,
    phentsize: 42,
    phnum: 44,
    shentsize: 46,
    shnum: 48,
    shstrndx: 50,
    p_flags: 24,
    sh_offset: 16,
    sh_size: 20,
};

const LAYOUT_64: Layout = Layout {
    phoff: 32,
    shoff: 40,
    phentsize: 54,
    phnum: 56,
    shentsize: 58,
    shnum: 60,
    shstrndx: 62,
    p_flags: 4,
    sh_offset: 24,
    sh_size: 32,
};

struct Reader<'a> {
    bytes: &'a [u8],
    is_64: bool,
    big_endian: bool,
}

impl Reader<'_> {
    fn field(&self, at: usize, width: usize) -> u64 {
        let raw = &self.bytes[at..at + width];
        let fold = |value: u64, byte: &u8| value << 8 | u64::from(*byte);
        if self.big_endian {
            raw.iter().fold(0, fold)
        } else {
            raw.iter().rev().fold(0, fold)
        }
    }

    fn u16(&self, at: usize) -> u16 {
        self.field(at, 2) as u16
    }

    fn u32(&self, at: usize) -> u32 {
        self.field(at, 4) as u32
    }

    /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
    fn word(&self, at: usize) -> usize {
        self.field(at, if self.is_64 { 8 } else { 4 }) as usize
    }
}

impl Elf {
    /// Parses `bytes`; panics on anything that is not a well-formed ELF file.
    pub fn parse(bytes: &[u8]) -> Elf {
        assert!(bytes.starts_with(MAGIC), "not an ELF file");
        let reader = Reader {
            bytes,
            is_64: bytes[CLASS_OFFSET] == CLASS_64,
            big_endian: bytes[DATA_OFFSET] == DATA_BIG_ENDIAN,
        };
        let layout = if reader.is_64 { &LAYOUT_64 } else { &LAYOUT_32 };

        let table = |offset: usize, entry_size: usize, count: usize| -> Vec<Range<usize>> {
            let start = reader.word(offset);
            let size = usize::from(reader.u16(entry_size));
            (0..usize::from(reader.u16(count)))
                .map(|index| start + index * size..start + (index + 1) * size)
                .collect()
        };
        let segments = table(layout.phoff, layout.phentsize, layout.phnum)
            .into_iter()
            .map(|header| Segment {
                kind: reader.u32(header.start),
                flags: reader.u32(header.start + layout.p_flags),
            })
            .collect();

        let section_headers = table(layout.shoff, layout.shentsize, layout.shnum);
        let sections = match section_headers.get(usize::from(reader.u16(layout.shstrndx))) {
            Some(names_header) => {
                let names_at = reader.word(names_header.start + layout.sh_offset);
                let names_len = reader.word(names_header.start + layout.sh_size);
                let names = &bytes[names_at..names_at + names_len];
                section_headers
                    .iter()
                    .map(|header| {
                        let name = &names[reader.u32(header.start) as usize..];
                        let end = name
                            .iter()
                            .position(|&byte| byte == 0)
                            .unwrap_or(name.len());
                        String::from_utf8_lossy(&name[..end]).into_owned()
                    })
                    .collect()
            }
            None => Vec::new(),
        };

        Elf {
            is_64: reader.is_64,
            big_endian: reader.big_endian,
            file_type: reader.u16(TYPE_OFFSET),
            machine: reader.u16(MACHINE_OFFSET),
            segments,
            sections,
        }
    }

    pub fn has_segment(&self, kind: u32) -> bool {
        self.segments.iter().any(|segment| segment.kind == kind)
    }
}
